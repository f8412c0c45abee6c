import { describe, expect, it } from "vitest";
import { appEnvironment, isMeshCredential } from "./app-env.js";

describe("appEnvironment", () => {
  it("drops the admin and bootstrap tokens and keeps everything else", () => {
    const env = appEnvironment(
      { PATH: "/bin", TSMESH_TOKEN: "admin", TSMESH_BOOTSTRAP_TOKEN: "boot", TSMESH_BOOTSTRAP_TOKEN_FILE: "/t", tsmesh_token: "x", TSMESH_API: "http://api", HOME: "/h" },
      { HTTP_PROXY: "http://127.0.0.1:1" },
    );
    expect(env).toEqual({ PATH: "/bin", TSMESH_API: "http://api", HOME: "/h", HTTP_PROXY: "http://127.0.0.1:1" });
  });

  it("names only the token variables as credentials", () => {
    expect(["TSMESH_TOKEN", "TSMESH_BOOTSTRAP_TOKEN", "TSMESH_BOOTSTRAP_TOKEN_FILE", "TSMESH_ADMIN_TOKEN"].every(isMeshCredential)).toBe(true);
    expect(["TSMESH_TOKENS_USED", "TOKEN", "MY_TSMESH_TOKEN", "TSMESH_SERVICE", "GITHUB_TOKEN"].some(isMeshCredential)).toBe(false);
  });
});
