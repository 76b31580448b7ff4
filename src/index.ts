/** The library's public exports. */
export { selectBackend, describeBackend, BACKEND_CHOICES } from './backend/backend.ts';
export type { BackendChoice, BackendInfo } from './backend/backend.ts';
export { saveModel, loadModel } from './models/model-files.ts';
