/** Where the project is: the root every relative path of the product (examples, the data folder default, the CLI) starts from. */
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..');

/** The compiled build (`npm run build`): one bundle per entry point, the workflow bundle, the build stamp. */
export const DIST_DIR = path.join(PROJECT_ROOT, 'dist');

/** True when this process runs the compiled build (dist/*.js), false when tsx runs the TypeScript sources. */
export const RUNNING_COMPILED = path.extname(__filename) === '.js';
