// openapi_check.mjs OPENAPI_YAML API_MD: docs/openapi.yaml passes a real OpenAPI validator
// (@apidevtools/swagger-parser: the OpenAPI 3.x JSON schema plus $ref and path checks), and the
// error codes its Error response lists are exactly those in docs/api.md's error tables.
import SwaggerParser from "@apidevtools/swagger-parser";
import { readFileSync } from "node:fs";

const [yamlPath, mdPath] = process.argv.slice(2);
let fails = 0;
const ok = (what) => console.log(`ok   - ${what}`);
const fail = (what) => { console.log(`FAIL - ${what}`); fails++; };

try {
  const api = await SwaggerParser.validate(yamlPath);
  ok(`${yamlPath} is a valid OpenAPI ${api.openapi} document`);
} catch (e) {
  fail(`${yamlPath} does not validate: ${e.message}`);
}

// The codes in api.md's tables: rows "| 4xx | `code` | when |".
const md = readFileSync(mdPath, "utf8");
const mdCodes = new Set([...md.matchAll(/^\|\s*[1-5][0-9][0-9]\s*\|\s*`([a-z_]+)`\s*\|/gm)].map((m) => m[1]));
const raw = await SwaggerParser.parse(yamlPath);
const yamlCodes = new Set(raw.components.responses.Error.content["application/json"].schema
  .properties.error.properties.code.enum);
if (mdCodes.size < 10) fail(`only ${mdCodes.size} codes found in ${mdPath}: has its table changed shape?`);
const missing = [...mdCodes].filter((c) => !yamlCodes.has(c));
const extra = [...yamlCodes].filter((c) => !mdCodes.has(c));
if (missing.length) fail(`error codes in api.md but not in openapi.yaml: ${missing.join(", ")}`);
else ok(`all ${mdCodes.size} error codes of api.md are in openapi.yaml`);
if (extra.length) fail(`error codes in openapi.yaml that api.md does not document: ${extra.join(", ")}`);
else ok("openapi.yaml lists no error code api.md does not document");

// Every path api.md gives a section heading ("## `GET /x`") is in openapi.yaml.
const mdPaths = [...md.matchAll(/^## `(?:GET|POST) ([^`]+)`/gm)].map((m) => m[1].replace(/^\[[^\]]*\]/, ""));
const absent = mdPaths.filter((p) => !Object.keys(raw.paths).some((q) => q.endsWith(p)));
if (absent.length) fail(`paths documented in api.md but not in openapi.yaml: ${absent.join(", ")}`);
else ok(`the ${mdPaths.length} paths api.md documents are in openapi.yaml`);

process.exit(fails ? 1 : 0);
