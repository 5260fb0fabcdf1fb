// A small XML tree for the HL7 v3 messages $convert writes: elements built as data, written with
// every attribute and text escaped, and XML a message carries (the prescriber's XML Signature)
// read into the same tree so that it is written out the same way.
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export type XmlNode = { name: string; attributes: Record<string, string>; children: XmlChild[] };
export type XmlChild = XmlNode | string;
/** What a builder may leave out: a child that is not there is skipped. */
type MaybeChild = XmlChild | undefined | false;

/** An element; attributes whose value is undefined are left out. */
export function el(name: string, attributes: Record<string, string | undefined> = {}, children: MaybeChild[] = []): XmlNode {
  const present = Object.entries(attributes).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return { name, attributes: Object.fromEntries(present), children: children.filter((child): child is XmlChild => child !== undefined && child !== false) };
}

/** An element holding only text. */
export const textEl = (name: string, text: string): XmlNode => el(name, {}, [text]);

const escapeText = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttribute = (value: string) => escapeText(value).replace(/"/g, '&quot;');

/** The document: the declaration, then the tree indented by two spaces a level, as the examples are. */
export function toXml(root: XmlNode): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const write = (node: XmlNode, indent: string): void => {
    const attributes = Object.entries(node.attributes).map(([key, value]) => ` ${key}="${escapeAttribute(value)}"`).join('');
    const open = `${indent}<${node.name}${attributes}`;
    if (node.children.length === 0) {
      lines.push(`${open}/>`);
    } else if (node.children.every((child) => typeof child === 'string')) {
      lines.push(`${open}>${node.children.map(escapeText).join('')}</${node.name}>`);
    } else {
      lines.push(`${open}>`);
      for (const child of node.children) {
        if (typeof child === 'string') lines.push(`${indent}  ${escapeText(child)}`);
        else write(child, `${indent}  `);
      }
      lines.push(`${indent}</${node.name}>`);
    }
  };
  write(root, '');
  return `${lines.join('\n')}\n`;
}

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
});

/**
 * The elements of an XML text, whitespace between elements dropped; throws on text that is not
 * well-formed XML, or that declares a DOCTYPE (whose entities could make a small text expand).
 */
export function parseXml(text: string): XmlNode[] {
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new Error(`not well-formed XML: ${valid.err.msg}`);
  if (/<!DOCTYPE/i.test(text)) throw new Error('a DOCTYPE is not allowed');
  const toNodes = (ordered: OrderedNode[]): XmlChild[] =>
    ordered.map((item) => {
      const name = Object.keys(item).find((key) => key !== ':@') ?? '';
      const content = item[name];
      if (name === '#text') return String(content);
      return { name, attributes: { ...(item[':@'] ?? {}) }, children: toNodes(content as OrderedNode[]) };
    });
  return toNodes(parser.parse(text) as OrderedNode[]).filter((child): child is XmlNode => typeof child !== 'string');
}
