/** Where the project is: the root every relative path of the product (examples, the data folder default, the CLI) starts from. */
import path from 'node:path';

export const PROJECT_ROOT = path.resolve(__dirname, '..');
