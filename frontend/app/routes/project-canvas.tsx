import { ReactFlowProvider } from "@xyflow/react";
import { Link, useParams } from "react-router";
import { buttonClass } from "../components/ui/button.tsx";
import { Skeleton } from "../components/ui/skeleton.tsx";
import type { ServicePanels } from "../features/canvas/components/canvas-context.ts";
import { ProjectCanvas } from "../features/canvas/components/project-canvas.tsx";
import { useProject } from "../features/projects/api/projects.ts";
import { PendingServicePanel } from "../features/services/components/pending-service-panel.tsx";
import { ServicePanel } from "../features/services/components/service-panel.tsx";
import { ApiError, errorText } from "../lib/api-client.ts";

// The canvas opens the services feature's panels; composed here, where features meet.
const PANELS: ServicePanels = { ServicePanel, PendingServicePanel };

export default function ProjectCanvasRoute() {
  const { projectId = "" } = useParams();
  const project = useProject(projectId);
  if (project.isPending) return <Skeleton className="m-6 h-[calc(100%-3rem)] rounded-xl" />;
  if (project.isError)
    return (
      <div className="flex h-full flex-col items-center justify-center gap-3">
        <h1 className="text-xl font-semibold">
          {project.error instanceof ApiError && project.error.status === 404 ? "Project not found" : "Could not load the project"}
        </h1>
        <p className="text-sm text-muted-foreground">{errorText(project.error)}</p>
        <Link to="/projects" className={buttonClass("outline")}>
          Back to projects
        </Link>
      </div>
    );
  return (
    <ReactFlowProvider>
      <ProjectCanvas project={project.data} panels={PANELS} />
    </ReactFlowProvider>
  );
}
