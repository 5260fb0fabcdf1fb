// A Patient resource type declared only for the platform's own tests of search and its plans
// (the real Patient is PDS's, with its own store).
import type { ResourceDefinition } from './definitions.ts';

export const TEST_PATIENT: ResourceDefinition = {
  resourceType: 'Patient',
  searchParams: [
    { name: 'identifier', type: 'token', expression: 'Patient.identifier', description: 'NHS number' },
    { name: 'gender', type: 'token', expression: 'Patient.gender', description: 'Gender' },
    { name: 'family', type: 'string', expression: 'Patient.name.family', description: 'Family name' },
    { name: 'name', type: 'string', expression: 'Patient.name', description: 'Any part of a name' },
    { name: 'birthdate', type: 'date', expression: 'Patient.birthDate', description: 'Date of birth' },
    { name: 'general-practitioner', type: 'reference', expression: 'Patient.generalPractitioner', description: 'Registered GP' },
  ],
};
