// What a prescriber signs and how the signature is checked. $prepare answers the SignedInfo of an
// XML signature (base64, as examples/primary-care/**/1-Prepare-Response-200_OK.json); the
// prescriber signs its bytes with RSA-SHA256 and returns an XML Signature in the Provenance.
//
// The NHS digest is over the HL7 v3 fragments of the prescription, which OpenSpine does not
// produce. Here the DigestValue is the SHA-256 of the prescription's clinical content: every
// entry but the MessageHeader (whose destination differs between $prepare and $process-message in
// the examples) and the Provenance, as canonical JSON (keys sorted). Any change to a medication,
// dose, patient, prescriber or nomination after signing changes the digest and is refused.
import { createHash, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import type { Bundle, BundleEntry, Provenance } from '@medplum/fhirtypes';
import { EpsErrors } from './errors.ts';
import { resourcesOf } from './fhir-read.ts';

const XMLDSIG = 'http://www.w3.org/2000/09/xmldsig#';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const SIGNATURE_TYPE = { system: 'urn:iso-astm:E1762-95:2013', code: '1.2.840.10065.1.12.1.1' };

/** The clinical content of a prescription, canonicalised and hashed: the DigestValue. */
export function prescriptionDigest(bundle: Bundle): string {
  const signed = (bundle.entry ?? [])
    .filter((entry: BundleEntry) => entry.resource?.resourceType !== 'MessageHeader' && entry.resource?.resourceType !== 'Provenance')
    .map((entry) => ({ fullUrl: entry.fullUrl ?? null, resource: entry.resource ?? null }));
  return createHash('sha256').update(canonicalJson(signed)).digest('base64');
}

/**
 * JSON with object keys sorted at every depth, so equal content always hashes the same. Written into
 * one string as it walks (a third faster than joining a list at every level: it runs twice per
 * prescription, for $prepare and the order, over about 24 KB).
 */
export function canonicalJson(value: unknown): string {
  let text = '';
  const write = (node: unknown): void => {
    if (Array.isArray(node)) {
      text += '[';
      node.forEach((element, index) => {
        if (index > 0) text += ',';
        write(element);
      });
      text += ']';
    } else if (node !== null && typeof node === 'object') {
      text += '{';
      Object.keys(node).sort().forEach((key, index) => {
        text += `${index > 0 ? ',' : ''}${JSON.stringify(key)}:`;
        write((node as Record<string, unknown>)[key]);
      });
      text += '}';
    } else text += JSON.stringify(node) ?? 'null';
  };
  write(value);
  return text;
}

const parsed = new Map<string, X509Certificate>();
const PARSED_KEPT = 10_000;

/**
 * A certificate, parsed once: a prescriber's registered PEM is read again for every order, and the
 * same certificate comes in KeyInfo (base64 DER) with every order they sign.
 */
export function parsedCertificate(text: string, form: 'pem' | 'der-base64' = 'pem'): X509Certificate {
  const key = `${form}:${text}`;
  let certificate = parsed.get(key);
  if (!certificate) {
    certificate = new X509Certificate(form === 'pem' ? text : Buffer.from(text, 'base64'));
    if (parsed.size >= PARSED_KEPT) parsed.clear();
    parsed.set(key, certificate);
  }
  return certificate;
}

/** The SignedInfo in exclusive canonical form (explicit end tags, the namespace declared on it): the bytes signed. */
export function signedInfoOf(digest: string): string {
  return `<SignedInfo xmlns="${XMLDSIG}"><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></CanonicalizationMethod>`
    + `<SignatureMethod Algorithm="${RSA_SHA256}"></SignatureMethod><Reference><Transforms><Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"></Transform></Transforms>`
    + `<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"></DigestMethod><DigestValue>${digest}</DigestValue></Reference></SignedInfo>`;
}

/** The $prepare answer: the SignedInfo to sign, base64, with the time and algorithm. */
export function prepareParameters(bundle: Bundle, now: Date): { resourceType: 'Parameters'; parameter: { name: string; valueString: string }[] } {
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'digest', valueString: Buffer.from(signedInfoOf(prescriptionDigest(bundle))).toString('base64') },
      { name: 'timestamp', valueString: now.toISOString().replace(/\.\d{3}Z$/, '+00:00') },
      { name: 'algorithm', valueString: 'RS256' },
    ],
  };
}

/**
 * What a prescribing system does with the $prepare digest: signs it and wraps the result in an XML
 * Signature for the Provenance's signature.data. For tests and the demo tooling.
 */
export function signDigest(digestParameter: string, privateKey: KeyObject | string, certificatePem: string): string {
  const signedInfo = Buffer.from(digestParameter, 'base64').toString('utf8');
  const signatureValue = sign('sha256', Buffer.from(signedInfo), privateKey).toString('base64');
  const inner = signedInfo.replace(` xmlns="${XMLDSIG}"`, '');
  const certificate = new X509Certificate(certificatePem).raw.toString('base64');
  const xml = `<Signature xmlns="${XMLDSIG}">${inner}<SignatureValue>${signatureValue}</SignatureValue>`
    + `<KeyInfo><X509Data><X509Certificate>${certificate}</X509Certificate></X509Data></KeyInfo></Signature>`;
  return Buffer.from(xml).toString('base64');
}

/** The signed bundle: the prepared one with a Provenance whose signature is the prescriber's. */
export function withProvenance(bundle: Bundle, signatureData: string, when: string): Bundle {
  const requests = (bundle.entry ?? []).filter((entry) => entry.resource?.resourceType === 'MedicationRequest');
  const requester = (requests[0]?.resource as { requester?: { reference?: string } } | undefined)?.requester?.reference ?? '';
  const id = crypto.randomUUID();
  const provenance: Provenance = {
    resourceType: 'Provenance',
    id,
    target: requests.map((entry) => ({ reference: entry.fullUrl ?? '' })),
    recorded: when,
    agent: [{ who: { reference: requester } }],
    signature: [{ type: [SIGNATURE_TYPE], when, who: { reference: requester }, data: signatureData }],
  };
  return { ...bundle, entry: [...(bundle.entry ?? []), { fullUrl: `urn:uuid:${id}`, resource: provenance }] };
}

export type SignatureParts = { digestValue: string; signatureMethod: string; signatureValue: Buffer; certificate: X509Certificate | undefined };

/** The parts of the XML Signature in a Provenance; undefined when there is none. */
export function signatureOf(bundle: Bundle): SignatureParts | undefined {
  const data = resourcesOf<Provenance>(bundle, 'Provenance')[0]?.signature?.[0]?.data;
  if (!data) return undefined;
  const xml = Buffer.from(data, 'base64').toString('utf8');
  const text = (pattern: RegExp) => pattern.exec(xml)?.[1]?.replace(/\s+/g, '') ?? '';
  const certificateText = text(/<X509Certificate>([^<]*)<\/X509Certificate>/);
  let certificate: X509Certificate | undefined;
  try {
    certificate = certificateText ? parsedCertificate(certificateText, 'der-base64') : undefined;
  } catch {
    throw EpsErrors.signatureInvalid('The certificate in KeyInfo is not an X.509 certificate');
  }
  return {
    digestValue: text(/<DigestValue>([^<]*)<\/DigestValue>/),
    signatureMethod: /<SignatureMethod\s+Algorithm="([^"]*)"/.exec(xml)?.[1] ?? '',
    signatureValue: Buffer.from(text(/<SignatureValue>([^<]*)<\/SignatureValue>/), 'base64'),
    certificate,
  };
}

/**
 * Checks a signed order's signature (signatureOf) with the certificates it may have been made with:
 * the digest must be this bundle's (else it was changed after signing), and the signature must
 * verify with one of them that is valid now, the one in KeyInfo if it names one. The caller sees
 * to it that they are the prescriber's registered certificates (prescribe.ts).
 */
export function verifyOrderSignature(bundle: Bundle, parts: SignatureParts | undefined, certificates: X509Certificate[], now: Date): void {
  if (!parts || parts.signatureValue.length === 0) throw EpsErrors.missingSignature();
  if (parts.signatureMethod !== RSA_SHA256) throw EpsErrors.signatureInvalid(`Unsupported signature method '${parts.signatureMethod}': sign with RS256 as $prepare says`);
  if (parts.digestValue !== prescriptionDigest(bundle)) throw EpsErrors.signatureDoesNotMatch();
  const current = certificates.filter((certificate) => new Date(certificate.validFrom) <= now && now <= new Date(certificate.validTo));
  if (current.length === 0) throw EpsErrors.signatureInvalid(parts.certificate ? 'The certificate in KeyInfo is not valid now' : 'The prescriber has no registered certificate valid now');
  const offered = parts.certificate;
  const candidates = offered ? current.filter((certificate) => certificate.fingerprint256 === offered.fingerprint256) : current;
  if (candidates.length === 0) throw EpsErrors.signatureInvalid(NOT_REGISTERED);
  const signedInfo = Buffer.from(signedInfoOf(parts.digestValue));
  if (!candidates.some((certificate) => verify('sha256', signedInfo, certificate.publicKey, parts.signatureValue))) {
    throw EpsErrors.signatureInvalid("The signature does not verify with the prescriber's certificate");
  }
}

export const NOT_REGISTERED = 'The certificate in KeyInfo is not one registered to the prescriber';
