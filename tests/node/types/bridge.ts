// Compiled against the installed package (types.test.mjs): a link publishes with the bus's own
// event map, as `bus.publish` does. Every `@ts-expect-error` must be an error, or tsc fails.
import { EventBus } from 'switchyard';
import { linkPort, shareTopics, type Link, type LinkPortTarget } from 'switchyard/bridge';

interface ShopEvents {
  'cart.add': { sku: string; qty: number };
  'cart.cleared': undefined;
}

const bus = new EventBus<ShopEvents>();
const link: Link<ShopEvents> = shareTopics(bus, { channel: 'shop', topics: ['cart.**'] });
link.publish('cart.add', { sku: 'a-1', qty: 2 });
link.publish('cart.cleared');
// @ts-expect-error wrong payload for `cart.add`
link.publish('cart.add', { sku: 'a-1' });
// @ts-expect-error not a topic of the map
link.publish('cart.removed', {});

declare const port: LinkPortTarget;
const portLink = linkPort(bus, port, { topics: ['cart.*'] });
portLink.publish('cart.add', { sku: 'b-2', qty: 1 }, { headers: { from: 'worker' } });
// @ts-expect-error a payload is required for `cart.add`
portLink.publish('cart.add');

// An untyped bus keeps an untyped link.
const loose = shareTopics(new EventBus(), { channel: 'any', topics: ['**'] });
loose.publish('anything.at.all', 42);
const state: 'leader' | 'follower' | 'disconnected' = loose.state;
void state;
