# One service account per workload, each with only the project roles it needs. Grants on single
# resources (a bucket, a topic, a Cloud Run service, another service account) are made where those
# resources are declared, so they stay as narrow as the resource.

resource "google_service_account" "account" {
  for_each     = var.accounts
  project      = var.project_id
  account_id   = each.key
  display_name = each.key
  description  = each.value.description
}

resource "google_project_iam_member" "role" {
  for_each = { for pair in flatten([for id, a in var.accounts : [for r in a.project_roles : { id = id, role = r }]]) : "${pair.id} ${pair.role}" => pair }
  project  = var.project_id
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.account[each.value.id].email}"
}
