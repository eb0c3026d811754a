// Must type-check against the typings GENERATED from the chat's Rust events
// (written to ./generated/chat-events.d.ts by tests/tests/typescript.rs).
import Primus from '../../../primus/src/server/client_js/primus';
import type { ClientRequests, ClientToServerEvents, ServerToClientEvents } from './generated/chat-events';

function show(_text: string): void {}

const primus = new Primus<ClientToServerEvents, ServerToClientEvents, ClientRequests>('http://127.0.0.1:8080');
primus.send('say', 'hello');
primus.request('join', { name: 'ada' }).then((names: string[]) => show(names.join(', ')));
primus.request('who').then((names) => show(names[0] ?? 'nobody'));
primus.on('message', ({ from, text }) => show(`${from}: ${text}`));
primus.on('left', ({ name }) => show(name));
primus.on('system', (text) => show(text.toUpperCase()));
