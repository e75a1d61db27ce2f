alter table model_metrics add column if not exists placement varchar
