// Must type-check against the typings GENERATED from the chat's Rust events
// (written to ./generated/chat-events.d.ts by tests/tests/typescript.rs).
import Primus from '../../../primus/src/server/client_js/primus';
function show(_text) { }
const primus = new Primus('http://127.0.0.1:8080');
primus.send('say', 'hello');
primus.request('join', { name: 'ada' }).then((names) => show(names.join(', ')));
primus.request('who').then((names) => show(names[0] ?? 'nobody'));
primus.on('message', ({ from, text }) => show(`${from}: ${text}`));
primus.on('left', ({ name }) => show(name));
primus.on('system', (text) => show(text.toUpperCase()));
