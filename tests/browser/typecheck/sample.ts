// Must type-check with `tsc --noEmit --strict` (tests/tests/typescript.rs).
import Primus from '../../../primus/src/server/client_js/primus';
import type { ChatClientEvents, ChatRequests, ChatServerEvents } from './chat-events';

function show(_text: string): void {}

const primus = new Primus<ChatClientEvents, ChatServerEvents, ChatRequests>('http://127.0.0.1:8080', {
  reconnect: { min: 500, max: '30 seconds', retries: 5, factor: 2, 'reconnect timeout': 10000 },
  strategy: ['disconnect', 'online'],
  pingTimeout: false,
  queueSize: 100,
});

// Typed events out: payloads are checked; unit events need none.
primus.send('say', 'hello');
primus.send('join', { name: 'ada' });
primus.send('who');

// Typed requests: the reply type follows the event.
const members: Promise<string[]> = primus.request('join', { name: 'ada' });
members.then((names) => show(names.join(', ')));
primus.request('who').then((names) => show(names[0] ?? 'nobody'));
primus.request('join', { name: 'bob' }, { timeout: 5000 }).catch((error: Primus.RequestError) => {
  const code: 'REJECTED' | 'TIMEOUT' | 'CLOSED' = error.code;
  show(`${error.event}: ${code} ${error.message}`);
});

// Typed events in.
primus.on('message', ({ from, text }) => show(`${from}: ${text}`));
primus.on('joined', (joined) => show(joined.name));
primus.once('left', ({ name }) => show(name));
primus.on('system', (text) => show(text.trim()));

// The client's own events.
primus.on('open', () => show('open'));
primus.on('data', (data, raw) => show(`${String(data)} ${typeof raw === 'string' ? raw : raw.byteLength}`));
primus.on('error', (error) => show(error.message));
primus.on('readyStateChange', (state) => {
  const known: 'opening' | 'open' | 'end' = state;
  show(known);
});
primus.on('reconnect scheduled', (state) => show(`attempt ${state.attempt} in ${state.scheduled} ms`));
primus.on('reconnect failed', (error, state) => show(`${error.message} after ${state.attempt}`));
primus.on('incoming::ping', (stamp) => show(stamp.toFixed(0)));
primus.off('open');

// Requests from the server, answered with a value or a promise of one.
interface ServerAsks {
  confirm: { data: string; reply: boolean };
  pick: { data: { max: number }; reply: number };
}
const asked = new Primus<ChatClientEvents, ChatServerEvents, ChatRequests, ServerAsks>();
asked.answer('confirm', (question) => question.endsWith('?'));
asked.answer('pick', async ({ max }) => Math.floor(max / 2));

// The Primus API users know.
primus.id((id) => show(id));
primus.id().then((id) => show(id));
primus.write({ anything: [1, 2, 3] });
if (primus.readyState === Primus.OPEN && primus.online) primus.end('bye');
primus.destroy();

// Without event maps everything is allowed and payloads are unknown.
const loose = Primus.connect(undefined, { manual: true });
loose.open();
loose.send('anything', 42);
loose.on('whatever', (data: unknown) => show(String(data)));
loose.request('ask', { q: 1 }).then((reply: unknown) => show(String(reply)));
loose.answer('anything', (data: unknown) => data);

export {};
