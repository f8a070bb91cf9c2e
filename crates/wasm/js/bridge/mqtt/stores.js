// @ts-check
// Where the outbox keeps its records between `publish` and the broker's PUBACK.
//
// - `MemoryStore` (Node's default): records live as long as the process. A Node service is
//   restarted as a process, usually by a supervisor that also restarts its broker connection;
//   what a restart must not lose belongs in the broker's persistent session or the service's
//   own database. A file store would cost an fsync per batch on the hot path for a guarantee the
//   process model rarely needs; pass your own `store` (this interface) when it does.
// - `IdbStore` (browsers' default): IndexedDB through `idb`, so the outbox survives a reload,
//   a crash of the tab and the browser closing. One database per outbox name.
//
// Every store answers the same five calls; writes and removals are batched by the outbox.

/**
 * @typedef {object} OutboxRecord
 * @property {number} key order of arrival (ascending across reloads)
 * @property {string} realm the bus it was first published on (`meta.origin.realm` on receivers)
 * @property {number} id its id there
 * @property {number} seq its per-topic sequence number there
 * @property {number} hops links crossed once it reaches the receiving bus (1 from its own bus)
 * @property {Record<string, string> | null} headers
 * @property {string | null} correlationId
 * @property {string} topic the MQTT topic
 * @property {string} busTopic the bus topic
 * @property {string} body the JSON text of the payload
 * @property {number} createdAt `Date.now()` when it entered the outbox
 * @property {number} attempts refusals by the broker so far
 * @property {string} [writer] the realm whose link wrote it (tab groups)
 */

/**
 * @typedef {object} OutboxStore
 * @property {() => Promise<{ records: OutboxRecord[], clientId: string | null }>} open
 * @property {(records: OutboxRecord[]) => Promise<void> | void} write
 * @property {(keys: number[]) => Promise<void> | void} remove
 * @property {(clientId: string) => Promise<void> | void} saveClientId
 * @property {() => void} close
 * @property {string} kind `'memory'`, `'indexeddb'` or the custom store's own
 */

/** @implements {OutboxStore} */
export class MemoryStore {
  constructor() {
    this.kind = 'memory';
  }

  async open() {
    return { records: [], clientId: null };
  }

  write() {}

  remove() {}

  saveClientId() {}

  close() {}
}

/** How often a transaction is retried after Safari's "The database connection is closing". */
const CLOSING_RETRIES = 3;

/**
 * Whether `error` is the InvalidStateError a browser throws when the connection is closing
 * (Safari closes idle connections and those of pages entering the back/forward cache).
 * @param {unknown} error
 */
export function isClosing(error) {
  return error instanceof Error && error.name === 'InvalidStateError' && /clos/i.test(error.message);
}

/** @implements {OutboxStore} */
export class IdbStore {
  /**
   * @param {typeof import('idb')} idb
   * @param {string} name database name suffix (one outbox per name)
   */
  constructor(idb, name) {
    this.kind = 'indexeddb';
    this.idb = idb;
    this.dbName = `switchyard-mqtt-outbox:${name}`;
    /** @type {Promise<import('idb').IDBPDatabase> | null} */
    this.db = null;
    /** Reopens after "connection is closing" (counted for metrics and tests). */
    this.reopened = 0;
  }

  connect() {
    if (!this.db) {
      this.db = this.idb.openDB(this.dbName, 1, {
        upgrade(db) {
          db.createObjectStore('outbox', { keyPath: 'key' });
          db.createObjectStore('meta');
        },
      });
      // A connection the browser closes under us is reopened at the next transaction.
      this.db.then((db) => db.addEventListener('close', () => this.forget(db)), () => {});
    }
    return this.db;
  }

  /** @param {import('idb').IDBPDatabase} db */
  forget(db) {
    if (this.db) this.db.then((current) => current === db && (this.db = null), () => {});
  }

  /**
   * Runs `fn` in a transaction, reopening the database and retrying when it is closing.
   * @template T
   * @param {'readonly' | 'readwrite'} mode
   * @param {(tx: any) => Promise<T>} fn
   * @returns {Promise<T>}
   */
  async run(mode, fn) {
    for (let attempt = 0; ; attempt++) {
      const db = await this.connect();
      try {
        const tx = db.transaction(['outbox', 'meta'], mode);
        const [result] = await Promise.all([fn(tx), tx.done]);
        return result;
      } catch (error) {
        if (!isClosing(error) || attempt >= CLOSING_RETRIES) throw error;
        this.reopened++;
        this.db = null;
      }
    }
  }

  async open() {
    return this.run('readonly', async (tx) => {
      const records = await tx.objectStore('outbox').getAll();
      const clientId = (await tx.objectStore('meta').get('clientId')) ?? null;
      return { records, clientId: typeof clientId === 'string' ? clientId : null };
    });
  }

  /** @param {OutboxRecord[]} records */
  write(records) {
    return this.run('readwrite', async (tx) => {
      const store = tx.objectStore('outbox');
      await Promise.all(records.map((r) => store.put(r)));
    });
  }

  /** @param {number[]} keys */
  remove(keys) {
    return this.run('readwrite', async (tx) => {
      const store = tx.objectStore('outbox');
      await Promise.all(keys.map((k) => store.delete(k)));
    });
  }

  /** @param {string} clientId */
  saveClientId(clientId) {
    return this.run('readwrite', (tx) => tx.objectStore('meta').put(clientId, 'clientId'));
  }

  close() {
    const db = this.db;
    this.db = null;
    if (db) db.then((d) => d.close(), () => {});
  }
}

/**
 * The outbox shared by the tabs of one origin (`connectMqtt(bus, { tabs })`): every realm of the
 * group appends its records here, and the leader, the one realm holding the socket, reads them,
 * sends them and deletes each on its PUBACK. IndexedDB is shared by the realms of an origin and
 * outlives each of them, so a record is handed over the moment its transaction commits: a
 * leader that closes or crashes leaves it for the next. Keys come from the store's key generator,
 * so two tabs never collide and keys rise in commit order (read-write transactions on one store
 * run one after another), which lets the leader read only what is new (`readAfter`).
 */
export class SharedIdbStore extends IdbStore {
  /**
   * @param {typeof import('idb')} idb
   * @param {string} name database name suffix (one shared outbox per name)
   */
  constructor(idb, name) {
    super(idb, name);
    this.kind = 'indexeddb';
    this.dbName = `switchyard-mqtt-tabs:${name}`;
  }

  connect() {
    if (!this.db) {
      this.db = this.idb.openDB(this.dbName, 1, {
        upgrade(db) {
          const outbox = db.createObjectStore('outbox', { keyPath: 'key', autoIncrement: true });
          db.createObjectStore('meta');
          // Keys never repeat across incarnations of the database (the origin's data cleared
          // under running tabs, which still remember earlier keys as settled): the generator
          // starts above any key an earlier one handed out (fewer than 1024 per millisecond).
          const seed = Date.now() * 1024;
          outbox.put({ key: seed });
          outbox.delete(seed);
        },
      });
      this.db.then((db) => db.addEventListener('close', () => this.forget(db)), () => {});
    }
    return this.db;
  }

  /**
   * Appends `records` in one transaction; sets each one's `key` from the key generator.
   * @param {OutboxRecord[]} records
   */
  append(records) {
    return this.run('readwrite', async (tx) => {
      const store = tx.objectStore('outbox');
      const keys = await Promise.all(
        records.map((r) => {
          const { key: _unused, ...rest } = r;
          return store.add(rest);
        }),
      );
      records.forEach((r, i) => (r.key = /** @type {number} */ (keys[i])));
    });
  }

  /**
   * The records with a key above `after`, in key order.
   * @param {number} after
   * @returns {Promise<OutboxRecord[]>}
   */
  readAfter(after) {
    return this.run('readonly', (tx) => tx.objectStore('outbox').getAll(IDBKeyRange.lowerBound(after, true)));
  }

  /**
   * Which of `keys` are still in the outbox.
   * @param {number[]} keys
   * @returns {Promise<Set<number>>}
   */
  presentKeys(keys) {
    let min = Infinity;
    let max = -Infinity;
    for (const k of keys) {
      if (k < min) min = k;
      if (k > max) max = k;
    }
    return this.run('readonly', async (tx) => new Set(/** @type {number[]} */ (await tx.objectStore('outbox').getAllKeys(IDBKeyRange.bound(min, max)))));
  }

  /**
   * The group's client id: the stored one, else `fresh` (stored now). One transaction, so two
   * tabs starting at once agree on one id.
   * @param {string} fresh
   * @returns {Promise<string>}
   */
  sharedClientId(fresh) {
    return this.run('readwrite', async (tx) => {
      const meta = tx.objectStore('meta');
      const stored = await meta.get('clientId');
      if (typeof stored === 'string') return stored;
      await meta.put(fresh, 'clientId');
      return fresh;
    });
  }
}
