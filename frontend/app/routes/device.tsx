import { DevicePage } from "../features/device/components/device-page.tsx";

export default function DeviceRoute() {
  return <DevicePage />;
}
