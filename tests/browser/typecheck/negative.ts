// Must FAIL to type-check: `say` carries a string (tests/tests/typescript.rs).
import Primus from '../../../primus/src/server/client_js/primus';
import type { ChatClientEvents, ChatRequests, ChatServerEvents } from './chat-events';

const primus = new Primus<ChatClientEvents, ChatServerEvents, ChatRequests>();

primus.send('say', 42); // <- the only error

export {};
