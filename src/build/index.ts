/** Deploy from source (issue 13): git clone, upload extraction, BuildKit builds through dockerd. */
export { Builder, type BuilderOptions, uploadPath } from "./builder.ts";
export { extractUpload, resolveContext, unsafeEntry } from "./context.ts";
export { engineBuild } from "./engine.ts";
export { cloneBranchHead } from "./git.ts";
export { imageID, pullImage } from "./image.ts";
export { cloneEnv, generateDeployKey } from "./keys.ts";
export { saveUpload } from "./upload.ts";
