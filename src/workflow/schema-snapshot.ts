// GitHub's workflow schema, ready-made for the CLI bundle. The parser builds
// it on first use from its JSON (80 kB read and validated by its own template
// reader, then checked): 35–45 ms of every `slipway run` on a 2-CPU VM. The
// build (scripts/build.mjs) runs that once, snapshots the resulting
// TemplateSchema with snapshotSchema, and bundles a getWorkflowSchema that
// revives the snapshot (a few ms). The schema is a tree of plain objects,
// arrays, strings and booleans and the classes below; anything else fails the
// snapshot, so the build stops rather than bundle a schema that differs.
import { BooleanDefinition } from "@actions/workflow-parser/templates/schema/boolean-definition";
import { MappingDefinition } from "@actions/workflow-parser/templates/schema/mapping-definition";
import { NullDefinition } from "@actions/workflow-parser/templates/schema/null-definition";
import { NumberDefinition } from "@actions/workflow-parser/templates/schema/number-definition";
import { OneOfDefinition } from "@actions/workflow-parser/templates/schema/one-of-definition";
import { PropertyDefinition } from "@actions/workflow-parser/templates/schema/property-definition";
import { SequenceDefinition } from "@actions/workflow-parser/templates/schema/sequence-definition";
import { StringDefinition } from "@actions/workflow-parser/templates/schema/string-definition";
import { TemplateSchema } from "@actions/workflow-parser/templates/schema/template-schema";

const CLASSES: Record<string, { prototype: object }> = {
  TemplateSchema,
  BooleanDefinition,
  MappingDefinition,
  NullDefinition,
  NumberDefinition,
  OneOfDefinition,
  PropertyDefinition,
  SequenceDefinition,
  StringDefinition,
};

/** The key that names an object's class in the snapshot. */
const CLASS = "$class";

/** The schema as JSON, class instances tagged with their class name. Throws on anything it could not revive identically. */
export function snapshotSchema(schema: TemplateSchema): string {
  const encode = (value: unknown, path: string): unknown => {
    if (typeof value === "string" || typeof value === "boolean" || value === null) return value;
    if (typeof value === "number" && Number.isFinite(value)) return value;
    if (Array.isArray(value)) {
      if (Reflect.ownKeys(value).length !== value.length + 1) throw new Error(`schema snapshot: ${path} is an array with extra properties`);
      return value.map((v, i) => encode(v, `${path}[${i}]`));
    }
    if (typeof value !== "object") throw new Error(`schema snapshot: ${path} is a ${typeof value}`);
    const keys = Reflect.ownKeys(value);
    if (keys.some((k) => typeof k !== "string" || k === CLASS || !Object.getOwnPropertyDescriptor(value, k)?.enumerable)) {
      throw new Error(`schema snapshot: ${path} has a property JSON cannot carry`);
    }
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) fields[k] = encode(v, `${path}.${k}`);
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype) return fields;
    const name = Object.keys(CLASSES).find((n) => CLASSES[n]?.prototype === proto);
    if (!name) throw new Error(`schema snapshot: ${path} is of an unknown class (${(proto as { constructor?: { name?: string } } | null)?.constructor?.name})`);
    return { [CLASS]: name, ...fields };
  };
  return JSON.stringify(encode(schema, "schema"));
}

/** The schema snapshotSchema took. */
export function reviveSchema(json: string): TemplateSchema {
  return JSON.parse(json, (_key, value: unknown) => {
    if (typeof value !== "object" || value === null || Array.isArray(value) || !(CLASS in value)) return value;
    const { [CLASS]: name, ...fields } = value as Record<string, unknown>;
    const cls = CLASSES[name as string];
    if (!cls) throw new Error(`schema snapshot: unknown class ${String(name)}`);
    return Object.assign(Object.create(cls.prototype) as object, fields);
  }) as TemplateSchema;
}
