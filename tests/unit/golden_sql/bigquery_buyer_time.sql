-- train
WITH keyed AS (
  SELECT
    CAST(i.`customer_id` AS INT64) AS `customer_id`,
    i.`product_id` AS `product_id`,
    b.`city` AS `city`,
    p.`category` AS `category`,
    CAST(p.`price` AS FLOAT64) AS `price`,
    CAST(i.`revenue` AS FLOAT64) AS `revenue`,
    TO_HEX(MD5(CONCAT('42', ':', CAST(i.`customer_id` AS STRING), ':', CAST(i.`product_id` AS STRING)))) AS qt_digest,
    i.`date` AS qt_time,
    CAST(i.`date` AS DATE) AS qt_day
  FROM `my-project.shop.transactions` AS i
  LEFT JOIN `my-project.shop.buyers` AS b ON CAST(i.`customer_id` AS STRING) = CAST(b.`customer_id` AS STRING)
  LEFT JOIN `my-project.shop.products` AS p ON i.`product_id` = p.`product_id`
  WHERE i.`customer_id` IS NOT NULL AND i.`product_id` IS NOT NULL
),
bounds AS (
  SELECT MAX(CAST(`date` AS DATE)) AS qt_last_day
  FROM `my-project.shop.transactions`
),
ranked AS (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY `customer_id` ORDER BY qt_time DESC, qt_digest) AS qt_position,
    COUNT(*) OVER (PARTITION BY `customer_id`) AS qt_buyer_rows
  FROM keyed CROSS JOIN bounds
  WHERE MOD(CAST(CONCAT('0x', SUBSTR(qt_digest, 1, 8)) AS INT64), 100) < 25
)
SELECT `customer_id`, `product_id`, `city`, `category`, `price`, `revenue`, CAST(DATE_DIFF(qt_last_day, qt_day, DAY) AS INT64) AS qt_days_ago
FROM ranked
WHERE qt_position * 100 > qt_buyer_rows * 30

-- eval
WITH keyed AS (
  SELECT
    CAST(i.`customer_id` AS INT64) AS `customer_id`,
    i.`product_id` AS `product_id`,
    b.`city` AS `city`,
    p.`category` AS `category`,
    CAST(p.`price` AS FLOAT64) AS `price`,
    CAST(i.`revenue` AS FLOAT64) AS `revenue`,
    TO_HEX(MD5(CONCAT('42', ':', CAST(i.`customer_id` AS STRING), ':', CAST(i.`product_id` AS STRING)))) AS qt_digest,
    i.`date` AS qt_time,
    CAST(i.`date` AS DATE) AS qt_day
  FROM `my-project.shop.transactions` AS i
  LEFT JOIN `my-project.shop.buyers` AS b ON CAST(i.`customer_id` AS STRING) = CAST(b.`customer_id` AS STRING)
  LEFT JOIN `my-project.shop.products` AS p ON i.`product_id` = p.`product_id`
  WHERE i.`customer_id` IS NOT NULL AND i.`product_id` IS NOT NULL
),
bounds AS (
  SELECT MAX(CAST(`date` AS DATE)) AS qt_last_day
  FROM `my-project.shop.transactions`
),
ranked AS (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY `customer_id` ORDER BY qt_time DESC, qt_digest) AS qt_position,
    COUNT(*) OVER (PARTITION BY `customer_id`) AS qt_buyer_rows
  FROM keyed CROSS JOIN bounds
  WHERE MOD(CAST(CONCAT('0x', SUBSTR(qt_digest, 1, 8)) AS INT64), 100) < 25
)
SELECT `customer_id`, `product_id`, `city`, `category`, `price`, `revenue`, CAST(DATE_DIFF(qt_last_day, qt_day, DAY) AS INT64) AS qt_days_ago
FROM ranked
WHERE qt_position * 100 > qt_buyer_rows * 20
  AND qt_position * 100 <= qt_buyer_rows * 30

-- test
WITH keyed AS (
  SELECT
    CAST(i.`customer_id` AS INT64) AS `customer_id`,
    i.`product_id` AS `product_id`,
    b.`city` AS `city`,
    p.`category` AS `category`,
    CAST(p.`price` AS FLOAT64) AS `price`,
    CAST(i.`revenue` AS FLOAT64) AS `revenue`,
    TO_HEX(MD5(CONCAT('42', ':', CAST(i.`customer_id` AS STRING), ':', CAST(i.`product_id` AS STRING)))) AS qt_digest,
    i.`date` AS qt_time,
    CAST(i.`date` AS DATE) AS qt_day
  FROM `my-project.shop.transactions` AS i
  LEFT JOIN `my-project.shop.buyers` AS b ON CAST(i.`customer_id` AS STRING) = CAST(b.`customer_id` AS STRING)
  LEFT JOIN `my-project.shop.products` AS p ON i.`product_id` = p.`product_id`
  WHERE i.`customer_id` IS NOT NULL AND i.`product_id` IS NOT NULL
),
bounds AS (
  SELECT MAX(CAST(`date` AS DATE)) AS qt_last_day
  FROM `my-project.shop.transactions`
),
ranked AS (
  SELECT *,
    ROW_NUMBER() OVER (PARTITION BY `customer_id` ORDER BY qt_time DESC, qt_digest) AS qt_position,
    COUNT(*) OVER (PARTITION BY `customer_id`) AS qt_buyer_rows
  FROM keyed CROSS JOIN bounds
  WHERE MOD(CAST(CONCAT('0x', SUBSTR(qt_digest, 1, 8)) AS INT64), 100) < 25
)
SELECT `customer_id`, `product_id`, `city`, `category`, `price`, `revenue`, CAST(DATE_DIFF(qt_last_day, qt_day, DAY) AS INT64) AS qt_days_ago
FROM ranked
WHERE qt_position * 100 <= qt_buyer_rows * 20

-- candidates
WITH corpus AS (
  SELECT
    i.`product_id` AS `product_id`,
    CAST(MAX(i.`revenue`) AS FLOAT64) AS `revenue`
  FROM `my-project.shop.transactions` AS i
  WHERE i.`product_id` IS NOT NULL
  GROUP BY i.`product_id`
)
SELECT c.`product_id`, p.`category` AS `category`, CAST(p.`price` AS FLOAT64) AS `price`, c.`revenue`
FROM corpus AS c
LEFT JOIN `my-project.shop.products` AS p ON c.`product_id` = p.`product_id`
ORDER BY c.`product_id`
