// ODS codes (Organisation Data Service): 3 to 9 letters and digits, e.g. A83008 (GP practice),
// RBA (trust), RH802 (site), FCG71 (pharmacy). ../shared/specs/README.md section 7.
export const ODS_CODE_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';

export function isValidOdsCode(value: string): boolean {
  return /^[A-Z0-9]{3,9}$/.test(value);
}
