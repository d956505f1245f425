// Which doctors' columns the schedule shows, remembered on this device (localStorage): the
// hidden ones are stored, so a doctor added later shows up by default. On a phone the day
// view shows one doctor at a time; which one is remembered too.
const HIDDEN_KEY = 'clinic.schedule.hidden-doctors';
const PHONE_KEY = 'clinic.schedule.phone-doctor';

function read<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? fallback : (JSON.parse(raw) as T);
  } catch {
    return fallback;
  }
}

class DoctorChoice {
  hidden = $state<string[]>(typeof localStorage === 'undefined' ? [] : read<string[]>(HIDDEN_KEY, []));
  phoneDoctor = $state<string | null>(
    typeof localStorage === 'undefined' ? null : read<string | null>(PHONE_KEY, null),
  );

  isShown(id: string): boolean {
    return !this.hidden.includes(id);
  }

  setShown(id: string, shown: boolean): void {
    this.hidden = shown ? this.hidden.filter((h) => h !== id) : [...new Set([...this.hidden, id])];
    localStorage.setItem(HIDDEN_KEY, JSON.stringify(this.hidden));
  }

  showAll(): void {
    this.hidden = [];
    localStorage.setItem(HIDDEN_KEY, '[]');
  }

  setPhoneDoctor(id: string): void {
    this.phoneDoctor = id;
    localStorage.setItem(PHONE_KEY, JSON.stringify(id));
  }
}

export const doctorChoice = new DoctorChoice();
