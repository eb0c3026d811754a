// Must FAIL to type-check against the generated typings: `say` carries a string.
import Primus from '../../../primus/src/server/client_js/primus';
import type { ClientRequests, ClientToServerEvents, ServerToClientEvents } from './generated/chat-events';

const primus = new Primus<ClientToServerEvents, ServerToClientEvents, ClientRequests>('http://127.0.0.1:8080');
primus.send('say', 42);
