//! Charts as inline SVG drawn on the server, so pages render them without scripts or
//! anything from the internet.

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A horizontal bar chart of `(label, value)`, largest first as given.
pub fn bars(title: &str, items: &[(String, f64)]) -> String {
    let max = items.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max).max(1.0);
    let (label_w, bar_w, row_h) = (170.0, 480.0, 22.0);
    let height = row_h * items.len() as f64 + 10.0;
    let mut svg = format!(
        r#"<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {height}" xmlns="http://www.w3.org/2000/svg">"#,
        escape(title),
        label_w + bar_w + 90.0
    );
    for (i, (label, v)) in items.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let w = (v / max * bar_w).max(1.0);
        let short: String = label.chars().take(12).collect();
        svg += &format!(
            r#"<text x="{}" y="{}" text-anchor="end">{}</text><rect class="bar" x="{label_w}" y="{y}" width="{w:.1}" height="{}"><title>{}: {v}</title></rect><text x="{}" y="{}">{}</text>"#,
            label_w - 6.0,
            y + 14.0,
            escape(&short),
            row_h - 6.0,
            escape(label),
            label_w + w + 4.0,
            y + 14.0,
            v
        );
    }
    svg + "</svg>"
}

/// A daily column chart of two series (downloads and calls).
pub fn columns(title: &str, days: &[(String, u64, u64)]) -> String {
    let max = days.iter().map(|(_, a, b)| (*a).max(*b)).max().unwrap_or(0).max(1) as f64;
    let (h, col_w, left) = (160.0, 22.0, 40.0);
    let width = left + col_w * days.len().max(1) as f64 + 10.0;
    let mut svg = format!(
        r#"<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {width} {}" xmlns="http://www.w3.org/2000/svg"><line class="axis" x1="{left}" y1="{h}" x2="{width}" y2="{h}"/><text x="0" y="12">{max}</text>"#,
        escape(title),
        h + 30.0
    );
    for (i, (day, downloads, calls)) in days.iter().enumerate() {
        let x = left + i as f64 * col_w;
        for (j, (v, class)) in [(*downloads, "bar2"), (*calls, "bar")].into_iter().enumerate() {
            let bh = v as f64 / max * (h - 20.0);
            svg += &format!(
                r#"<rect class="{class}" x="{:.1}" y="{:.1}" width="9" height="{bh:.1}"><title>{day} {}: {v}</title></rect>"#,
                x + j as f64 * 10.0,
                h - bh,
                if class == "bar2" { "下载" } else { "调用" }
            );
        }
        if i % 5 == 0 {
            svg += &format!(r#"<text x="{x}" y="{}">{}</text>"#, h + 14.0, escape(day.get(5..).unwrap_or(day)));
        }
    }
    svg + "</svg>"
}

/// A line over time of `(label, value)` points, oldest first; a note instead when there
/// is nothing to draw.
pub fn line(title: &str, points: &[(String, f64)], unit: &str) -> String {
    if points.is_empty() {
        return format!(r#"<p class="muted">{}：暂无数据</p>"#, escape(title));
    }
    let max = points.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
    let max = if max > 0.0 { max * 1.1 } else { 1.0 };
    let (h, w, left) = (160.0, 600.0, 50.0);
    let step = if points.len() > 1 { w / (points.len() - 1) as f64 } else { 0.0 };
    let xy = |i: usize, v: f64| (left + i as f64 * step, h - v / max * (h - 10.0));
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| {
            let (x, y) = xy(i, *v);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let mut svg = format!(
        r#"<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {}" xmlns="http://www.w3.org/2000/svg"><line class="axis" x1="{left}" y1="{h}" x2="{}" y2="{h}"/><text x="0" y="12">{:.1} {}</text><polyline class="line" fill="none" points="{}"/>"#,
        escape(title),
        left + w + 10.0,
        h + 30.0,
        left + w,
        max,
        escape(unit),
        path.join(" ")
    );
    let every = (points.len() / 6).max(1);
    for (i, (label, v)) in points.iter().enumerate() {
        let (x, y) = xy(i, *v);
        svg += &format!(
            r#"<circle class="dot" cx="{x:.1}" cy="{y:.1}" r="2"><title>{}: {v:.2} {}</title></circle>"#,
            escape(label),
            escape(unit)
        );
        if i % every == 0 {
            svg += &format!(r#"<text x="{x:.1}" y="{}">{}</text>"#, h + 14.0, escape(label));
        }
    }
    svg + "</svg>"
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_line_escapes_its_labels_and_says_when_there_is_nothing() {
        let svg = super::line("lag", &[("<b>".into(), 1.0), ("b".into(), 2.0)], "s");
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>") && svg.contains("<polyline"), "{svg}");
        assert!(super::line("lag", &[], "s").contains("暂无数据"));
    }

    #[test]
    fn charts_escape_labels_and_scale_to_the_largest_value() {
        let svg = super::bars("t", &[("<script>".into(), 10.0), ("b".into(), 5.0)]);
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
        assert!(svg.contains(r#"width="480.0""#) && svg.contains(r#"width="240.0""#), "{svg}");
    }
}
