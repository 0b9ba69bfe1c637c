output "emails" {
  description = "Account id to email."
  value       = { for id, account in google_service_account.account : id => account.email }
}

output "members" {
  description = "Account id to IAM member (serviceAccount:EMAIL)."
  value       = { for id, account in google_service_account.account : id => account.member }
}
