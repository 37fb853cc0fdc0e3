import { type ComponentType, createContext, useContext } from "react";
import type { CanvasNode } from "../../../../../src/canvas.ts";
import type { Service } from "../../../../../src/service.ts";
import type { DraftPrefill } from "../lib/flow.ts";

export interface DraftSubmit {
  name: string;
  image: string;
  icon_url?: string;
  env_vars: { key: string; value: string; sealed?: boolean }[];
  ports?: { container_port: number; host_port?: number; protocol?: "tcp" | "udp" }[];
  volumes?: DraftPrefill["volumes"];
  start_command?: string[];
}

/** Stable callbacks the custom nodes use to change the canvas (identity never changes). */
export interface CanvasActions {
  /** Optimistic local update plus a full `node:upsert`. */
  updateNode: (id: string, patch: Partial<Pick<CanvasNode, "label" | "data" | "width" | "height" | "position_x" | "position_y">>) => void;
  submitDraft: (draftID: string, values: DraftSubmit) => void;
  cancelDraft: (draftID: string) => void;
}

export const CanvasActionsContext = createContext<CanvasActions | null>(null);

export function useCanvasActions(): CanvasActions {
  const a = useContext(CanvasActionsContext);
  if (!a) throw new Error("useCanvasActions outside the canvas");
  return a;
}

/** Lowercased names already used in the project (applied + staged), for the draft form. */
export const TakenNamesContext = createContext<ReadonlySet<string>>(new Set());

/**
 * The side panels of a selected service, which belong to the services feature: the route passes them
 * in, since features do not import each other.
 */
export interface ServicePanels {
  ServicePanel: ComponentType<{
    projectID: string;
    service: Service;
    taken: ReadonlySet<string>;
    groupID: string | null;
    onClose: () => void;
  }>;
  PendingServicePanel: ComponentType<{ projectID: string; tempID: string; onClose: () => void }>;
}
