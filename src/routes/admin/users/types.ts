export interface AdminUser {
  id: string;
  email: string;
  full_name: string;
  role: 'admin' | 'receptionist' | 'clinician';
  doctor_id: string | null;
  active: boolean;
  created_at: string;
}

export interface DoctorOption {
  id: string;
  full_name: string;
}
