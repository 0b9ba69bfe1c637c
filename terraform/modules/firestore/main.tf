# Firestore in Native mode and the composite indexes the platform's queries need. The indexes are
# data in indexes.json, which tests/deploy checks against the queries the code really makes.

resource "google_firestore_database" "this" {
  project                           = var.project_id
  name                              = var.database
  location_id                       = var.location
  type                              = "FIRESTORE_NATIVE"
  concurrency_mode                  = "PESSIMISTIC"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = var.delete_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = var.delete_protection ? "ABANDON" : "DELETE"
}

locals {
  indexes = jsondecode(file("${path.module}/indexes.json"))
}

resource "google_firestore_index" "composite" {
  for_each    = { for index in local.indexes : join(" ", concat([index.collection], [for f in index.fields : "${f.field}:${f.order}"])) => index }
  project     = var.project_id
  database    = google_firestore_database.this.name
  collection  = each.value.collection
  query_scope = "COLLECTION"

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value.field
      order      = fields.value.order
    }
  }
}
