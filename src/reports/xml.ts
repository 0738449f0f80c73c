// XML → a small element tree, with fast-xml-parser. The document is
// validated first (the parser itself is lenient and would turn a truncated
// file into a plausible tree); a problem is a diagnostic naming the file and,
// where the validator says it, the line and column.
import { XMLParser, XMLValidator } from "fast-xml-parser";
import type { Diagnostic } from "../diagnostics/index.js";

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text and CDATA, concatenated (not its children's). */
  text: string;
}

type OrderedNode = Record<string, unknown>;

let parser: XMLParser | undefined;
/** Made on first use: most commands never read XML, and start-up is kept short. */
const xmlParser = (): XMLParser => (parser ??= new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: "",
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // Numeric character references (`&#10;`) as well as the five XML entities.
  htmlEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
}));

export type XmlResult = { root: XmlElement; diagnostic?: undefined } | { root?: undefined; diagnostic: Diagnostic };

/** The document's root element, or a diagnostic for `file` when the text is not well-formed XML. */
export function parseXml(text: string, file: string): XmlResult {
  const source = text.replace(/^\uFEFF/, "");
  if (source.trim() === "") return { diagnostic: xmlDiagnostic(file, "the file is empty", 0, 0) };
  const valid = XMLValidator.validate(source);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    return { diagnostic: xmlDiagnostic(file, `not well-formed XML: ${msg}`, line ?? 0, col ?? 0) };
  }
  let nodes: OrderedNode[];
  try {
    nodes = xmlParser().parse(source) as OrderedNode[];
  } catch (error) {
    return { diagnostic: xmlDiagnostic(file, `cannot read the XML: ${(error as Error).message}`, 0, 0) };
  }
  const root = toElements(nodes)[0];
  if (!root) return { diagnostic: xmlDiagnostic(file, "the XML document has no root element", 0, 0) };
  return { root };
}

function xmlDiagnostic(file: string, message: string, line: number, column: number): Diagnostic {
  return { code: "report-xml", severity: "error", message, file, line, column };
}

function toElements(nodes: OrderedNode[]): XmlElement[] {
  const out: XmlElement[] = [];
  for (const node of nodes) {
    for (const [key, value] of Object.entries(node)) {
      if (key === ":@" || key === "#text" || key.startsWith("?") || key.startsWith("!")) continue;
      const content = Array.isArray(value) ? (value as OrderedNode[]) : [];
      const attrs: Record<string, string> = {};
      const raw = node[":@"];
      if (raw && typeof raw === "object") {
        for (const [name, v] of Object.entries(raw as Record<string, unknown>)) attrs[name] = String(v);
      }
      let text = "";
      for (const child of content) if (typeof child["#text"] === "string" || typeof child["#text"] === "number") text += String(child["#text"]);
      out.push({ name: key, attrs, children: toElements(content), text });
    }
  }
  return out;
}

/** Local name without a namespace prefix, lower case. */
export function localName(element: XmlElement): string {
  const i = element.name.indexOf(":");
  return (i >= 0 ? element.name.slice(i + 1) : element.name).toLowerCase();
}

export function childrenNamed(element: XmlElement, ...names: string[]): XmlElement[] {
  return element.children.filter((c) => names.includes(localName(c)));
}
