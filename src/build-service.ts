import type { BuildSource, DeploymentPhase, GitCredentials } from "./build.ts";
import type { Deployment } from "./deployment.ts";

/**
 * BuildService stores what builds need next to deployments: phases, commit, build logs, webhook
 * secrets. Only the builder and the routes that start deployments call it.
 */
export interface BuildService {
  /** Moves a deployment to `phase` (closing the running one). Throws ENOTFOUND. */
  setPhase(deploymentID: string, phase: DeploymentPhase): Promise<Deployment>;
  /** Records the commit the build checked out. Throws ENOTFOUND. */
  setCommit(deploymentID: string, sha: string, message: string): Promise<void>;
  /** Stores the build log (its last BUILD_LOG_MAX_BYTES). Throws ENOTFOUND. */
  saveBuildLog(deploymentID: string, log: string): Promise<void>;
  /** The stored build log, "" when none. */
  findBuildLog(deploymentID: string): Promise<string>;
  /** Pending deployments still waiting for a build (a restarted daemon resumes them), oldest first. */
  findQueuedBuilds(): Promise<Deployment[]>;
  /**
   * Creates a pending deployment of the service's current settings built from `source` (its phase
   * `queued`), cancelling older pending ones like any deployment. Throws ENOTFOUND.
   */
  createBuildDeployment(serviceID: string, source: BuildSource): Promise<Deployment>;
  /** Creates a pending deployment of the current settings with `image` (Redeploy of an image service). Throws ENOTFOUND. */
  createImageDeployment(serviceID: string, image: string): Promise<Deployment>;
  /** The service's webhook secret, made on first use. Throws ENOTFOUND. */
  webhookSecret(serviceID: string): Promise<string>;
  /** Stores the private deploy key (a string) or the https token; null removes it. Throws ENOTFOUND. */
  setGitCredential(serviceID: string, kind: "deploy_key" | "git_token", secret: string | null): Promise<void>;
  /** What a clone of the service's repository authenticates with (secrets: for the builder only). */
  findGitCredentials(serviceID: string): Promise<GitCredentials>;
  /** Built image tags of the service's deployments beyond the newest `keep` that Rollback can still need, newest first. */
  builtImages(serviceID: string): Promise<{ deployment_id: string; image: string; status: string }[]>;
}

/** Cancels a deployment's build when a newer one replaced it; the builder watches for it. */
export interface Builder {
  /** Queues the build of a deployment whose phase is `queued` (idempotent). */
  enqueue(deployment: Deployment): void;
  /** Live log of a running build: replays what was logged, then follows; null when it is not running here. */
  follow(deploymentID: string, onText: (text: string) => void, onEnd: () => void): { close(): void } | null;
}
