// Compiled with `tsc --strict --noEmit` against the installed package (types.test.mjs).
// Every `@ts-expect-error` must be an error, or tsc fails.
import { EventBus, SwitchyardError, type LifecycleEvent, type MessageMeta, type MessageOrigin, type Subscription } from 'switchyard';
import { DEFAULT_HOP_LIMIT, linkPort, shareTopics, type Link, type LinkMetrics, type LinkState } from 'switchyard/bridge';

interface Events extends Record<string, unknown> {
  'user.created': { id: string; name: string };
  'user.deleted': { id: string };
  'order.placed': { total: number };
}

const bus = new EventBus<Events>({ capacity: 64, overflow: 'drop-oldest', retry: { attempts: 3, backoffMs: 10 }, clock: 'manual' });

// Exact topics: typed payloads both ways.
bus.subscribe('user.created', (payload, meta) => {
  const name: string = payload.name;
  const topic: 'user.created' = meta.topic;
  void name;
  void topic;
});
bus.publish('user.created', { id: '1', name: 'Ada' });
const { id, seq, matched } = bus.publish('order.placed', { total: 5 }, { headers: { a: 'b' }, ttlMs: 10 });
const numbers: number[] = [id, seq, matched];

// @ts-expect-error wrong payload shape
bus.publish('user.created', { id: 1 });
// @ts-expect-error unknown topic
bus.publish('user.updated', {});
// @ts-expect-error payload missing
bus.publish('user.deleted');
// @ts-expect-error unknown option
bus.publish('user.deleted', { id: 'x' }, { ttl: 5 });

bus.subscribe('user.deleted', (payload) => {
  // @ts-expect-error `name` is not in user.deleted
  void payload.name;
});

// Wildcards get the union of payloads.
bus.subscribe('user.*', (payload: Events['user.created'] | Events['user.deleted'] | Events['order.placed'], meta: MessageMeta) => {
  void payload;
  void meta.causationId;
});

// Options are typed.
const sub: Subscription = bus.subscribe('order.placed', (p) => p.total, {
  priority: 5,
  once: true,
  filter: (p) => p.total > 0,
  capacity: 10,
  delivery: 'immediate',
  breaker: { failures: 3, cooldownMs: 1000 },
  signal: new AbortController().signal,
});
// @ts-expect-error bad overflow policy
bus.subscribe('order.placed', () => {}, { overflow: 'drop-all' });
// @ts-expect-error priority is a number
bus.subscribe('order.placed', () => {}, { priority: 'high' });
// @ts-expect-error handler must be a function
bus.subscribe('order.placed', 5);
// @ts-expect-error not a topic of Events and not a wildcard
bus.subscribe('orders.placed', () => {});

// Batched subscriptions get arrays.
bus.subscribe('order.placed', (payloads, metas) => {
  const totals: number[] = payloads.map((p) => p.total);
  void totals;
  void metas.length;
}, { delivery: { batch: { size: 10, maxWaitMs: 5 } } });

// Return shapes.
const active: boolean = sub.active;
const removed: boolean = sub.unsubscribe();
const stats = sub.stats();
const depth: number | undefined = stats?.depth;
const m = bus.metrics();
const delivered: number = m.totals.delivered;
const letters = bus.deadLetters();
const reason: 'handler_error' | 'timeout' | 'expired' | 'rejected' | undefined = letters[0]?.reason;
const moved: number = bus.redrive([1, 2]);
const trace = bus.trace(0);
const cursor: number = trace.cursor;
bus.advance(10);
const off: () => void = bus.on('dead_letter', (event: LifecycleEvent<'dead_letter'>) => {
  const kind: 'dead_letter' = event.kind;
  void kind;
});
bus.on('*', (event) => void event.topic);
// @ts-expect-error unknown lifecycle kind
bus.on('subscribed', () => {});
const stop: () => void = bus.expose('demo');

async function asyncApi(): Promise<void> {
  const created = await bus.waitFor('user.created', { timeoutMs: 100 });
  const name: string = created.name;
  for await (const { payload, meta } of bus.stream('order.placed', { capacity: 10 })) {
    const total: number = payload.total;
    void total;
    void meta.seq;
    break;
  }
  await bus.idle();
  void name;
}

try {
  bus.publish('user.deleted', { id: 'x' });
} catch (error) {
  if (error instanceof SwitchyardError) {
    const code: 'E_INVALID_TOPIC' | 'E_INVALID_PATTERN' | 'E_INVALID_OPTION' | 'E_INVALID_HANDLER' | 'E_INVALID_RECEIVER' | 'E_BACKPRESSURE' | 'E_CASCADE' | 'E_CLOSED' | 'E_TIMEOUT' | 'E_NOT_CLONEABLE' | 'E_UNSUPPORTED' = error.code;
    void code;
  }
}

// @ts-expect-error unknown bus option
new EventBus({ capacityy: 5 });
// An untyped bus accepts any topic and payload.
const loose = new EventBus();
loose.publish('anything.at.all', 123);
loose.subscribe('x', (payload: unknown) => void payload);

void [numbers, active, removed, depth, delivered, reason, moved, cursor, off, stop, asyncApi];

// switchyard/bridge: options, the link, meta.origin.
const link: Link = shareTopics(bus, { channel: 'shop', topics: ['user.*'], retain: 2, overflow: 'drop-newest', logCapacity: 10, heartbeatMs: 100, hopLimit: 4, realm: 'tab-1' });
const linkState: LinkState = link.state;
const linkMetrics: LinkMetrics = link.metrics();
const gaps: number = linkMetrics.gaps + linkMetrics.missed + linkMetrics.refused;
const hopLimit: 8 = DEFAULT_HOP_LIMIT;
void [linkState, gaps, hopLimit];
linkPort(bus, { postMessage() {} }, { topics: ['order.*'] }).close();
// @ts-expect-error a link cannot refuse a message already delivered here
shareTopics(bus, { channel: 'shop', topics: ['user.*'], overflow: 'reject' });
// @ts-expect-error channel is required
shareTopics(bus, { topics: ['user.*'] });
bus.subscribe('user.created', (_, meta) => {
  const origin: MessageOrigin | null = meta.origin;
  if (origin !== null) {
    const where: string = origin.realm;
    const hops: number = origin.hops;
    void [where, hops];
  }
});
bus.publish('user.deleted', { id: '2' }, { origin: { realm: 'tab-2', id: 1, seq: 1, hops: 1 } });
