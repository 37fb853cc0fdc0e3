import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import type { Service } from "../../../../../src/service.ts";
import { envVarsQueryOptions } from "../../../shared/env-vars/api/env-vars.ts";
import { EnvVarsSection } from "../../../shared/env-vars/components/env-vars-section.tsx";

/** Service-scope variables, with counts of the project and group variables it also inherits. */
export function VariablesTab({
  projectID,
  service,
  taken,
  groupID,
}: {
  projectID: string;
  service: Service;
  taken: ReadonlySet<string>;
  groupID?: string | null;
}) {
  const project = useQuery(envVarsQueryOptions(projectID, { scope: "project", id: projectID }));
  const group = useQuery({ ...envVarsQueryOptions(projectID, { scope: "group", id: groupID ?? "" }), enabled: !!groupID });
  const pn = project.data?.length ?? 0;
  const gn = group.data?.length ?? 0;
  return (
    <div className="grid grid-cols-1 gap-4">
      <div className="grid gap-1 text-sm text-muted-foreground">
        <p className="min-h-5">
          {project.isPending
            ? "\u00a0"
            : `${pn} project variable${pn === 1 ? "" : "s"} also appl${pn === 1 ? "ies" : "y"} to this service. `}
          <Link to={`/projects/${projectID}/settings?tab=variables`} className="text-primary hover:underline">
            Manage →
          </Link>
        </p>
        {groupID ? (
          <p>
            {gn} group variable{gn === 1 ? "" : "s"} also appl{gn === 1 ? "ies" : "y"}. Click the group on the canvas to manage them.
          </p>
        ) : null}
      </div>
      <EnvVarsSection projectID={projectID} owner={{ scope: "service", id: service.id }} serviceNames={taken} refName={service.name} />
    </div>
  );
}
