-- Per evaluation window, train and test are half-open, non-empty and back to back: train ends exactly where test starts,
-- so no instant is scored in both (the ensemble's fit on train never sees the test period).
with periods as (
    select * from {{ ref('int_scoring__periods') }}
),

train as (select * from periods where period = 'train'),

test as (select * from periods where period = 'test')

select 'empty period' as problem, period, period_start, period_end
from periods
where not period_start < period_end

union all

select 'train does not end where test starts', train.period, train.period_end, test.period_start
from train
inner join test
    on test.window_id = train.window_id
where train.period_end <> test.period_start

union all

{#- Walk-forward: window k + 1's test span starts where window k's ends (the test spans tile the
    range, so pooling them scores every instant once). #}
select 'test spans do not tile', test.period, test.period_end, later.period_start
from test
inner join test as later
    on later.window_id = test.window_id + 1
where later.period_start <> test.period_end
