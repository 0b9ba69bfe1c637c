# Emails and members are built from the account ids, not read from the created accounts: callers
# use them as for_each keys (invokers, readers, publishers), and a new account's email is only
# known after apply, which fails the first plan ("Invalid for_each argument"). depends_on keeps
# every grant that names them after the accounts exist.

output "emails" {
  description = "Account id to email."
  value       = { for id in keys(var.accounts) : id => "${id}@${var.project_id}.iam.gserviceaccount.com" }
  depends_on  = [google_service_account.account]
}

output "members" {
  description = "Account id to IAM member (serviceAccount:EMAIL)."
  value       = { for id in keys(var.accounts) : id => "serviceAccount:${id}@${var.project_id}.iam.gserviceaccount.com" }
  depends_on  = [google_service_account.account]
}
