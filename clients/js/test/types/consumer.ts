// Compiles only if the declarations describe the client as an app uses it (README's example).
import {
  ApiError,
  DeviceClient,
  type ApiResponse,
  type DeviceClientOptions,
  type DeviceCredentials,
  type Tokens,
} from "deviceauth";

declare function loadFromKeychain(): Promise<DeviceCredentials | null>;
declare function saveToKeychain(credentials: DeviceCredentials): Promise<void>;

const options: DeviceClientOptions = {
  appKeyId: "ios-2026",
  appSecret: "the-app-key",
  credentials: await loadFromKeychain(),
  registration: { platform: "ios", app_version: "1.4.0" },
  onCredentials: saveToKeychain,
};
const client = new DeviceClient("https://api.example.com", options);
if (!client.credentials) {
  const credentials: DeviceCredentials = await client.register({ platform: "ios" });
  const deviceId: string = credentials.deviceId;
  void deviceId;
}
try {
  const response: ApiResponse = await client.request("GET", "/api/v1/me/");
  const status: number = response.status;
  void status;
} catch (error) {
  if (error instanceof ApiError && error.code === "user_inactive") {
    const status: number = error.status;
    void status;
  }
}
const tokens: Tokens | null = client.tokens;
const expiresAt: number | undefined = tokens?.expiresAt;
void expiresAt;
await client.logout();

// @ts-expect-error: register() needs the registration body.
await client.register();
