// The UI tests, in the order they run: each file registers its tests in common.mjs.
import './screens.test-ui.mjs';
import './connections.test-ui.mjs';
import './catalog.test-ui.mjs';
import './tools.test-ui.mjs';
import './byurl.test-ui.mjs';
import './cloud.test-ui.mjs';

export { tests } from './common.mjs';
