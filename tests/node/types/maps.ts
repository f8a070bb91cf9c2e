// Compiled against the installed package under every lib setting of types.test.mjs (es2022 +
// dom, esnext alone, es2022 + @types/node): nothing here needs a DOM or Node global.
// Every `@ts-expect-error` must be an error, or tsc fails.
import { EventBus, type BusSnapshot, type MessageMeta, type RestoreHandler } from 'switchyard';
// Snapshots are in the entry `switchyard/snapshot` (in `switchyard` they throw E_UNSUPPORTED).
import { EventBus as SnapshotBus } from 'switchyard/snapshot';

// An `interface` event map (no index signature) is accepted, as a `type` alias is.
interface AppEvents {
  'user.created': { id: string; name: string };
  'cart.cleared': undefined;
  tick: void;
  'maybe.count': number | undefined;
}

const bus = new EventBus<AppEvents>({ clock: 'manual' });

// Topics whose payload type accepts `undefined` are published without one.
bus.publish('tick');
bus.publish('cart.cleared');
bus.publish('maybe.count');
bus.publish('maybe.count', 3);
bus.publish('tick', undefined, { correlationId: 'c-1' });
bus.publish('user.created', { id: '1', name: 'Ada' }, { headers: { source: 'test' } });
// @ts-expect-error a payload is required for `user.created`
bus.publish('user.created');
// @ts-expect-error `tick` carries no payload
bus.publish('tick', 5);
// @ts-expect-error wrong payload for an interface-declared topic
bus.publish('user.created', { id: 1, name: 'Ada' });
// @ts-expect-error not a topic of the interface
bus.publish('user.removed', {});
// @ts-expect-error the options come third
bus.publish('user.created', { id: '1', name: 'Ada' }, { ttl: 5 });

bus.subscribe('user.created', (user, meta) => {
  const name: string = user.name;
  const topic: 'user.created' = meta.topic;
  void [name, topic];
});
bus.subscribe('tick', (payload) => {
  const nothing: void = payload;
  void nothing;
});
// @ts-expect-error not a topic of the interface and not a wildcard
bus.subscribe('user.create', () => {});

// Restored handlers are typed by the event map: any declared payload.
declare const saved: BusSnapshot;
const restored: EventBus<AppEvents> = SnapshotBus.restore<AppEvents>(saved, {
  capacity: 8,
  handlers: {
    audit: (payload, meta) => {
      const p: AppEvents[keyof AppEvents] = payload;
      const id: number = meta.id;
      void [p, id];
    },
    filtered: {
      handler: (payload: AppEvents[keyof AppEvents]) => void payload,
      filter: (payload) => payload !== undefined,
    },
    batched: {
      handler: (payloads: AppEvents[keyof AppEvents][], metas: MessageMeta[]) => void [payloads.length, metas.length],
    },
  },
});
restored.publish('tick');
// A bus of `switchyard/snapshot` is a `switchyard` EventBus (the other entries take it), and snapshots.
const asBus: EventBus<AppEvents> = restored;
const again: BusSnapshot = restored.snapshot();
void [asBus, again];
const one: RestoreHandler<number> = (n) => n.toFixed();
void one;
SnapshotBus.restore<AppEvents>(saved, {
  handlers: {
    // @ts-expect-error a restored handler's payload is a declared payload, not a string
    wrong: (payload: string) => payload.length,
  },
});
SnapshotBus.restore<AppEvents>(saved, {
  handlers: {
    // @ts-expect-error `handler` must be a function
    notAFunction: { handler: 5 },
  },
});
// @ts-expect-error unknown restore option
SnapshotBus.restore(saved, { capacityy: 1 });

// An untyped bus publishes anything, with or without a payload.
const loose = new EventBus();
loose.publish('app.ready');
loose.publish('app.data', { any: 'thing' });
SnapshotBus.restore(saved, { handlers: { x: (payload: unknown) => void payload } });
