// The peer libraries, imported the way their users import them. Shared by the Node runner and the
// browser bundle (esbuild resolves the same specifiers from tests/node_modules), so every runtime runs
// exactly the same library code.
import EventEmitter3 from 'eventemitter3';
import { EventEmitter as Tseep } from 'tseep';
import mitt from 'mitt';
import EventEmitter2 from 'eventemitter2';
import { Subject } from 'rxjs';
import Emittery from 'emittery';

/** Constructors of the peer libraries, by the implementation name used in results. */
export const peers = { EventEmitter3, Tseep, mitt, EventEmitter2, Subject, Emittery };
