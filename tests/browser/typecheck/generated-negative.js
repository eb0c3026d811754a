// Must FAIL to type-check against the generated typings: `say` carries a string.
import Primus from '../../../primus/src/server/client_js/primus';
const primus = new Primus('http://127.0.0.1:8080');
primus.send('say', 42);
