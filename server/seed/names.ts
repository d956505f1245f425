export const FIRST_NAMES = [
  'Olivia', 'Liam', 'Emma', 'Noah', 'Amelia', 'Oliver', 'Ava', 'Elijah', 'Sophia', 'Lucas', 'Mia', 'Mateo',
  'Isabella', 'Levi', 'Charlotte', 'Asher', 'Harper', 'James', 'Evelyn', 'Leo', 'Aisha', 'Omar', 'Chen', 'Wei',
  'Priya', 'Arjun', 'Sofia', 'Diego', 'Fatima', 'Yusuf', 'Hana', 'Kenji', 'Zoë', 'José', 'Chloé', 'Björn',
  'Ingrid', 'Mateusz', 'Agnieszka', 'Kwame', 'Amara', 'Nia', 'Tariq', 'Leila', 'Ravi', 'Meera', 'Luca', 'Giulia',
];
export const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Nguyen',
  'Patel', 'Kim', 'Müller', 'Schmidt', 'Kowalski', 'Novak', 'Rossi', 'Silva', 'Okafor', 'Mensah', 'Haddad',
  "O'Brien", 'Dubois', 'Andersson', 'Yamamoto', 'Tanaka', 'Singh', 'Khan', 'Costa', 'Fischer', 'Weber',
];
export const SPECIALIZATIONS = [
  'General practice', 'Cardiology', 'Dermatology', 'Pediatrics', 'Orthopedics', 'Neurology', 'Gynecology',
  'Ophthalmology', 'Psychiatry', 'Endocrinology',
];
export const REASONS = [
  'Annual check-up', 'Follow-up visit', 'Blood pressure review', 'Skin rash', 'Back pain', 'Headache',
  'Vaccination', 'Lab results discussion', 'Chest pain', 'Medication review', 'Knee injury', 'Fever and cough',
  'Prenatal visit', 'Eye examination', 'Anxiety follow-up', 'Diabetes management',
];
