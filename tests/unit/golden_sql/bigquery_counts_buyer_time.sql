WITH keyed AS (
  SELECT
    i.`customer_id` AS qt_query_id,
    i.`product_id` AS qt_candidate_id,
    TO_HEX(MD5(CONCAT('42', ':', CAST(i.`customer_id` AS STRING), ':', CAST(i.`product_id` AS STRING)))) AS qt_digest,
    i.`date` AS qt_time
  FROM `my-project.shop.transactions` AS i
  WHERE i.`customer_id` IS NOT NULL AND i.`product_id` IS NOT NULL
),
ranked AS (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY qt_query_id ORDER BY qt_time DESC, qt_digest) AS qt_position,
    COUNT(*) OVER (PARTITION BY qt_query_id) AS qt_buyer_rows
  FROM keyed
  WHERE MOD(CAST(CONCAT('0x', SUBSTR(qt_digest, 1, 8)) AS INT64), 100) < 25
),
labelled AS (
  SELECT qt_query_id, qt_candidate_id,
    CASE
      WHEN qt_position * 100 > qt_buyer_rows * 30 THEN 'train'
      WHEN qt_position * 100 > qt_buyer_rows * 20 AND qt_position * 100 <= qt_buyer_rows * 30 THEN 'eval'
      WHEN qt_position * 100 <= qt_buyer_rows * 20 THEN 'test'
    END AS qt_split
  FROM ranked
),
train_buyers AS (
  SELECT DISTINCT qt_query_id FROM labelled WHERE qt_split = 'train'
),
train_items AS (
  SELECT DISTINCT qt_candidate_id FROM labelled WHERE qt_split = 'train'
),
corpus AS (
  SELECT 1 AS qt_one, COUNT(DISTINCT i.`product_id`) AS qt_corpus_size
  FROM `my-project.shop.transactions` AS i
  WHERE i.`product_id` IS NOT NULL
),
per_split AS (
  SELECT
    1 AS qt_one,
    l.qt_split AS qt_split,
    COUNT(*) AS interactions,
    COUNT(DISTINCT l.qt_query_id) AS buyers,
    COUNT(DISTINCT CASE WHEN b.qt_query_id IS NULL THEN l.qt_query_id END) AS cold_buyers,
    SUM(CASE WHEN b.qt_query_id IS NULL THEN 1 ELSE 0 END) AS cold_buyer_interactions,
    SUM(CASE WHEN p.qt_candidate_id IS NULL THEN 1 ELSE 0 END) AS cold_item_interactions
  FROM labelled AS l
  LEFT JOIN train_buyers AS b ON l.qt_query_id = b.qt_query_id
  LEFT JOIN train_items AS p ON l.qt_candidate_id = p.qt_candidate_id
  WHERE l.qt_split IS NOT NULL
  GROUP BY l.qt_split
)
SELECT s.qt_split AS split, s.interactions, s.buyers, s.cold_buyers, s.cold_buyer_interactions, s.cold_item_interactions, c.qt_corpus_size AS corpus_size
FROM corpus AS c
LEFT JOIN per_split AS s ON s.qt_one = c.qt_one
ORDER BY s.qt_split
