import type { ReactFlowInstance } from "@xyflow/react";
import { useEffect, useRef } from "react";

function isTyping(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  return !!el && (/INPUT|TEXTAREA|SELECT/.test(el.tagName) || el.isContentEditable);
}

export interface CanvasKeys {
  rf: Pick<ReactFlowInstance, "fitView" | "zoomIn" | "zoomOut">;
  onEscape: () => void;
  addServiceDraft: () => void;
  addNote: () => void;
}

/**
 * The canvas's shortcuts: Escape closes the menu and the panel; f fits the view, + and - zoom, s
 * starts a service draft and n a note at the viewport's centre. Not while typing, with a modifier
 * held, or with a dialog open.
 */
export function useCanvasKeyboard(keys: CanvasKeys): void {
  // The latest handlers, read when a key arrives: the listener is added once.
  const latest = useRef(keys);
  latest.current = keys;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const k = latest.current;
      if (e.key === "Escape") {
        k.onEscape();
        return;
      }
      if (isTyping(e.target) || e.metaKey || e.ctrlKey || e.altKey || document.querySelector("[role=dialog]")) return;
      if (e.key === "f") void k.rf.fitView({ padding: 0.2, duration: 200, maxZoom: 1, includeHiddenNodes: true });
      else if (e.key === "=" || e.key === "+") void k.rf.zoomIn({ duration: 150 });
      else if (e.key === "-") void k.rf.zoomOut({ duration: 150 });
      else if (e.key === "s") k.addServiceDraft();
      else if (e.key === "n") k.addNote();
      else return;
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
}
