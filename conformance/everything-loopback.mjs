// Starts @modelcontextprotocol/server-everything in Streamable HTTP mode bound
// to 127.0.0.1 only (upstream listens on every interface). PORT selects the port.
import http from "node:http";

const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (...args) {
  if ((typeof args[0] === "number" || typeof args[0] === "string") && typeof args[1] !== "string") {
    args.splice(1, 0, "127.0.0.1");
  }
  return listen.apply(this, args);
};
process.argv = [process.argv[0], "server-everything", "streamableHttp"];
await import("@modelcontextprotocol/server-everything/dist/index.js");
