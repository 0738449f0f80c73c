// YAML features GitHub's workflow parser does not report with a position:
// unresolved aliases, keys without a value, non-scalar keys and tags that
// are not plain JSON types. Checked first, with the `yaml` package, so each
// gets a diagnostic at its line and column.
import { isAlias, isMap, isScalar, LineCounter, parseDocument, visit, type Node } from "yaml";
import type { Diagnostic } from "../diagnostics/index.js";

const JSON_TAGS = new Set(["tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"]);

export function checkYamlFeatures(file: string, content: string): Diagnostic[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(content, { lineCounter, uniqueKeys: false });
  if (doc.errors.length > 0) return []; // syntax errors: GitHub's parser reports them with positions
  const out: Diagnostic[] = [];
  const at = (node: Node | null | undefined, code: string, message: string, fix: string) => {
    const pos = node?.range ? lineCounter.linePos(node.range[0]) : { line: 0, col: 0 };
    out.push({ code, severity: "error", message, file, line: pos.line, column: pos.col, fix });
  };
  const anchors = new Set<string>();
  visit(doc, {
    Node(_key, node) {
      if (!isAlias(node) && node.anchor) anchors.add(node.anchor);
      if (isAlias(node) && !anchors.has(node.source)) {
        at(node, "yaml-alias", `alias *${node.source} refers to no anchor &${node.source} defined before it`, `define &${node.source} earlier in the file, or write the value out`);
      }
      if (!isAlias(node) && node.tag && !JSON_TAGS.has(node.tag) && !node.tag.startsWith("!")) {
        at(node, "yaml-tag", `the YAML tag ${node.tag.replace("tag:yaml.org,2002:", "!!")} is not allowed in a workflow`, "remove the tag; workflows use plain strings, numbers, booleans, mappings and sequences");
      }
      if (isMap(node)) {
        for (const pair of node.items) {
          const key = pair.key as Node | null;
          if (key && !isScalar(key)) {
            at(key, "yaml-complex-key", "a mapping key must be a plain value, not a mapping or sequence", "use a plain string as the key");
          } else if (pair.value === null && key && content.slice(0, key.range?.[0] ?? 0).trimEnd().endsWith("?")) {
            // `? key` with no `: value`.
            at(key, "yaml-missing-value", `key '${String(key.value)}' has no value`, "write `key: value` instead of `? key`");
          }
        }
      }
      return undefined;
    },
  });
  return out;
}
