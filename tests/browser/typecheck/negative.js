// Must FAIL to type-check: `say` carries a string (tests/tests/typescript.rs).
import Primus from '../../../primus/src/server/client_js/primus';
const primus = new Primus();
primus.send('say', 42); // <- the only error
