"""marlform: terraform — render DeploymentSpecs as Terraform JSON, plan them (for real or as an
offline preview), parse plan JSON, price plans and guard them with safety policies.

Imports only `gcp/`. Public entry points: `terraform.render.render`, `terraform.preview.preview_plan`,
`terraform.runner.TerraformRunner`, `terraform.plan_model.Plan`, `terraform.safety.evaluate`,
`terraform.cost.plan_cost` (see docs/terraform.md).
"""
