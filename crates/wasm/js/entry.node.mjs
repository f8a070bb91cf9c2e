// Node (ESM): the same instance as `require('switchyard')`, so errors and classes are shared.
import api from './index.cjs';

export const { EventBus, Subscription, SwitchyardError } = api;
export default api;
