import { ProjectSettingsPage } from "../features/projects/components/project-settings-page.tsx";

export default function ProjectSettingsRoute() {
  return <ProjectSettingsPage />;
}
