variable "project_id" {
  type        = string
  description = "Project of the Firestore database."
}

variable "location" {
  type        = string
  description = "Firestore location (a region such as europe-west1, or a multi-region such as eur3)."
}

variable "database" {
  type        = string
  description = "Database id; the platform's Firestore adapter uses the default database."
  default     = "(default)"
}

variable "delete_protection" {
  type        = bool
  description = "Refuse to delete the database (turn off only for throwaway environments)."
  default     = true
}
