// otlp_decode.js — decodes one OTLP/HTTP protobuf body with the OpenTelemetry JavaScript packages'
// own protobuf definitions (an independent decoder) and prints it as OTLP JSON.
// usage: node otlp_decode.js NODE_MODULES_DIR metrics|traces FILE
const path = require("path");
const fs = require("fs");
const [dir, kind, file] = process.argv.slice(2);
const root = require(path.join(dir, "@opentelemetry/otlp-transformer/build/src/generated/root.js"));
const svc = root.opentelemetry.proto.collector;
const type = kind === "metrics" ? svc.metrics.v1.ExportMetricsServiceRequest
                                : svc.trace.v1.ExportTraceServiceRequest;
const msg = type.decode(fs.readFileSync(file));
const obj = type.toObject(msg, { longs: String, enums: Number, bytes: Array, defaults: false });
const hex = (a) => Buffer.from(a).toString("hex");
const fix = (o) => {
  if (Array.isArray(o)) return o.map(fix);
  if (o && typeof o === "object") {
    for (const k of Object.keys(o)) {
      if (k === "traceId" || k === "spanId" || k === "parentSpanId") o[k] = hex(o[k]);
      else o[k] = fix(o[k]);
    }
  }
  return o;
};
process.stdout.write(JSON.stringify(fix(obj)) + "\n");
