import { Layers } from "lucide-react";
import type { CanvasNode } from "../../../../../src/canvas.ts";
import { SidePanel } from "../../../components/side-panel.tsx";
import { EnvVarsSection } from "../../../shared/env-vars/components/env-vars-section.tsx";

export function GroupPanel({ projectID, group, onClose }: { projectID: string; group: CanvasNode; onClose: () => void }) {
  return (
    <SidePanel
      title={group.label || "Group"}
      subtitle="Group variables apply to every service inside the group."
      icon={<Layers className="mt-1 size-5 text-muted-foreground" />}
      onClose={onClose}
      testID="group-panel"
    >
      <div className="p-4">
        <EnvVarsSection projectID={projectID} owner={{ scope: "group", id: group.id }} />
      </div>
    </SidePanel>
  );
}
