// One GET to 127.0.0.1 whose answer is JSON, as the demo's apps and traffic loop make it: never
// throws; a transport failure is status 0 with the reason.
import http from "node:http";

export type JsonAnswer =
  | { status: number; headers: http.IncomingHttpHeaders; text: string; parsed: true; json: unknown }
  | { status: number; headers: http.IncomingHttpHeaders; text: string; parsed: false }
  | { status: 0; failure: string };

export function getJson(opts: http.RequestOptions & { timeout: number }): Promise<JsonAnswer> {
  return new Promise((resolve) => {
    const req = http.request({ ...opts, host: "127.0.0.1", method: "GET" }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        try {
          resolve({ status, headers: res.headers, text, parsed: true, json: JSON.parse(text) as unknown });
        } catch {
          resolve({ status, headers: res.headers, text, parsed: false });
        }
      });
      res.on("error", () => resolve({ status: 0, failure: "response aborted" }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ status: 0, failure: err.message }));
    req.end();
  });
}
