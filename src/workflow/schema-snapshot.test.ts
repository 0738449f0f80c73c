import { MappingDefinition } from "@actions/workflow-parser/templates/schema/mapping-definition";
import { TemplateSchema } from "@actions/workflow-parser/templates/schema/template-schema";
import { getWorkflowSchema } from "@actions/workflow-parser/workflows/workflow-schema";
import { describe, expect, it } from "vitest";
import { reviveSchema, snapshotSchema } from "./schema-snapshot.js";

describe("workflow schema snapshot", () => {
  it("revives the parser's workflow schema object for object, class for class", () => {
    const schema = getWorkflowSchema();
    const revived = reviveSchema(snapshotSchema(schema));
    expect(revived).toStrictEqual(schema);
    expect(revived).toBeInstanceOf(TemplateSchema);
    expect(revived.getDefinition("workflow-root")).toBeInstanceOf(MappingDefinition);
    expect(snapshotSchema(revived)).toBe(snapshotSchema(schema));
  });

  it("refuses what it could not revive the same", () => {
    const withMap = Object.assign(Object.create(TemplateSchema.prototype) as TemplateSchema, { definitions: {}, version: "", extra: new Map() });
    expect(() => snapshotSchema(withMap)).toThrow(/schema\.extra is of an unknown class \(Map\)/);
    const withFunction = Object.assign(Object.create(TemplateSchema.prototype) as TemplateSchema, { definitions: { f: () => 1 } });
    expect(() => snapshotSchema(withFunction)).toThrow(/schema\.definitions\.f is a function/);
    const hidden = Object.create(TemplateSchema.prototype) as TemplateSchema;
    Object.defineProperty(hidden, "secret", { value: 1, enumerable: false });
    expect(() => snapshotSchema(hidden)).toThrow(/property JSON cannot carry/);
  });
});
